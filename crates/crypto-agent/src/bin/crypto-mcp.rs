fn main() { let _ = ccxt::Binance::new(None); }
