//! `exchange-fake [PORT] [binance|kraken]`: a fake exchange on 127.0.0.1 for trying crypto-mcp
//! by hand. binance (the default): key `dummykey`, secret `dummysecret`; kraken: the key and
//! secret it prints. Faults: POST /__fake/fault, prices: POST /__fake/price, what it saw:
//! GET /__fake/requests.

use exchange_fake::{FakeConfig, FakeExchange};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|_| anyhow::anyhow!("PORT: '{p}' is not a port number"))?,
        None => 18080,
    };
    let cfg = match std::env::args().nth(2).as_deref() {
        None | Some("binance") => FakeConfig::default(),
        Some("kraken") => FakeConfig::kraken(),
        Some(other) => anyhow::bail!("'{other}' is not binance or kraken"),
    };
    let fake = FakeExchange::start(cfg.clone(), port).await?;
    eprintln!(
        "exchange-fake ({}) listening on {}: CRYPTO_EXCHANGE={} CRYPTO_API_BASE_URL={} CRYPTO_API_KEY={} CRYPTO_API_SECRET={}",
        fake.dialect().exchange_id(),
        fake.base_url(),
        fake.dialect().exchange_id(),
        fake.base_url(),
        cfg.api_key,
        cfg.secret
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
