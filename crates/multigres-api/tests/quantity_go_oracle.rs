//! The quantity port against Go's own outputs: `data/quantity_go_oracle.tsv` holds what
//! apimachinery v0.35.0 printed for ~450 quantity strings (valid and invalid, with signs, leading
//! zeros, long mantissas, every suffix and exponent form). A row is `input<TAB>err` or
//! `input<TAB>ok<TAB>"<MarshalJSON>"<TAB><canonical>`.

use anyhow::{Context, bail};
use multigres_api::quantity::GoQuantity;
use pretty_assertions::assert_eq;

const ORACLE: &str = include_str!("data/quantity_go_oracle.tsv");

#[test]
fn every_oracle_row_parses_and_prints_as_go_did() -> anyhow::Result<()> {
    let mut checked = 0;
    for line in ORACLE.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [input, "err"] => assert!(
                GoQuantity::parse(input).is_err(),
                "Go rejected {input:?}, we accepted it"
            ),
            [input, "ok", marshalled, canonical] => {
                let quantity = GoQuantity::parse(input)
                    .with_context(|| format!("Go accepted {input:?}, we rejected it"))?;
                let printed = format!("\"{}\"", quantity.go_string());
                assert_eq!((input, printed.as_str()), (input, *marshalled));
                assert_eq!((input, quantity.canonical().as_str()), (input, *canonical));
            }
            _ => bail!("malformed oracle row {line:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 448, "rows in the oracle file");
    Ok(())
}
