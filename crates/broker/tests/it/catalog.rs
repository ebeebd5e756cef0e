//! Sanity of every symbol of the default catalogue.

use chrono::Weekday;
use drawbridge_broker::catalog::{default_catalog, find};
use drawbridge_broker::symbol::{AssetClass, CalcMode, SymbolIdx, SymbolSpec};
use drawbridge_model::num::FIXED_SCALE;
use drawbridge_model::{Price, Volume};
use std::collections::HashSet;

fn is_fx(s: &SymbolSpec) -> bool {
    matches!(s.class, AssetClass::ForexMajor | AssetClass::ForexCross)
}

#[test]
fn the_catalogue_is_large_and_names_are_unique() {
    let c = default_catalog();
    assert!(c.len() >= 30, "only {} symbols", c.len());
    let names: HashSet<&str> = c.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), c.len(), "duplicate names");
    for (i, s) in c.iter().enumerate() {
        assert_eq!(find(&c, &s.name), Some(SymbolIdx(i as u32)));
    }
    for want in [
        "EURUSD", "USDJPY", "XAUUSD", "XAGUSD", "US30", "GER40", "UK100", "JP225", "XTIUSD",
        "BTCUSD",
    ] {
        assert!(find(&c, want).is_some(), "{want} missing");
    }
    assert_eq!(find(&c, "NOPE"), None);
}

#[test]
fn prices_and_volumes_are_consistent() {
    for s in default_catalog() {
        let n = &s.name;
        assert_eq!(
            s.point,
            Price(FIXED_SCALE / 10_i64.pow(u32::from(s.digits))),
            "{n}: point"
        );
        assert!(
            s.tick_size.0 > 0 && s.tick_size.is_multiple_of(s.point),
            "{n}: tick size"
        );
        assert!(s.volume_step.0 > 0 && s.volume_min.0 > 0, "{n}: volumes");
        assert!(s.volume_min <= s.volume_max, "{n}: min > max");
        assert!(
            s.volume_min.is_multiple_of(s.volume_step),
            "{n}: step does not divide min"
        );
        assert!(
            s.volume_max.is_multiple_of(s.volume_step),
            "{n}: step does not divide max"
        );
        assert!(
            s.contract_size > 0.0 && s.margin_hedged >= 0.0 && s.margin_rate > 0.0,
            "{n}"
        );
        let f = &s.feed;
        assert!(
            f.start_bid.0 > 0 && f.start_bid.is_multiple_of(s.tick_size),
            "{n}: start bid"
        );
        assert!(
            f.spread_points >= 1 && (0.001..0.1).contains(&f.daily_volatility),
            "{n}: feed"
        );
        assert!(!s.description.is_empty(), "{n}: description");
    }
}

#[test]
fn fx_symbols_follow_their_names() {
    for s in default_catalog().into_iter().filter(is_fx) {
        let n = &s.name;
        assert_eq!(n.len(), 6, "{n}");
        assert_eq!(
            (s.base_currency.as_str(), s.profit_currency.as_str()),
            (&n[..3], &n[3..]),
            "{n}"
        );
        assert_eq!(s.margin_currency, s.base_currency, "{n}");
        assert_eq!(s.digits, if n.ends_with("JPY") { 3 } else { 5 }, "{n}");
        assert_eq!(s.tick_size, s.point, "{n}");
        assert_eq!(
            (s.contract_size, s.margin_hedged),
            (100_000.0, 50_000.0),
            "{n}"
        );
        assert_eq!(s.calc_mode, CalcMode::Forex, "{n}");
        assert_eq!(
            (s.volume_min, s.volume_max, s.volume_step),
            (Volume(1_000_000), Volume(10_000_000_000), Volume(1_000_000)),
            "{n}"
        );
        assert_eq!(s.swap_rollover3days, Weekday::Wed, "{n}");
        // A broker's markup makes at least one side of every pair pay.
        assert!(
            s.swap_long_points < 0.0 || s.swap_short_points < 0.0,
            "{n}: swaps"
        );
    }
}

#[test]
fn cfds_are_not_mistaken_for_currency_pairs() {
    for s in default_catalog().into_iter().filter(|s| !is_fx(s)) {
        let n = &s.name;
        assert_eq!(s.margin_currency, s.profit_currency, "{n}");
        if s.class == AssetClass::Index {
            assert_eq!(
                s.base_currency, s.profit_currency,
                "{n}: an index is no pair"
            );
        }
    }
}

#[test]
fn sessions_close_at_the_weekend_except_for_crypto() {
    let noon = 12 * 3_600;
    for s in default_catalog() {
        let n = &s.name;
        let crypto = s.class == AssetClass::Crypto;
        for day in [Weekday::Sat, Weekday::Sun] {
            assert_eq!(
                s.trade_sessions.is_open(day, noon),
                crypto,
                "{n} trades on {day}"
            );
            assert_eq!(
                s.quote_sessions.is_open(day, noon),
                crypto,
                "{n} quotes on {day}"
            );
        }
        assert!(
            s.trade_sessions.is_open(Weekday::Wed, 15 * 3_600),
            "{n} closed on Wednesday afternoon"
        );
        // Quotes run whenever trading does.
        for (d, windows) in s.trade_sessions.days.iter().enumerate() {
            for w in windows {
                let day = Weekday::try_from(d as u8).unwrap();
                for at in [w.from_s, w.to_s - 1] {
                    assert!(
                        s.quote_sessions.is_open(day, at),
                        "{n}: trades but no quotes on {day} at {at}"
                    );
                }
            }
        }
    }
}
