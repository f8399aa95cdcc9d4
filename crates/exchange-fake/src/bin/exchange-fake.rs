//! `exchange-fake [PORT]`: the fake Binance spot API on 127.0.0.1 for trying crypto-mcp by
//! hand (key `dummykey`, secret `dummysecret`). Faults: POST /__fake/fault, prices: POST
//! /__fake/price, what it saw: GET /__fake/requests.

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|_| anyhow::anyhow!("PORT: '{p}' is not a port number"))?,
        None => 18080,
    };
    let fake = exchange_fake::FakeExchange::start(exchange_fake::FakeConfig::default(), port).await?;
    eprintln!("exchange-fake listening on {} (key dummykey, secret dummysecret)", fake.base_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
