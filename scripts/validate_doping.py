"""Check doping predictions against the seed papers' own series, with the series in and left out of training.

    python scripts/validate_doping.py [--model DIR]

Series: Li2+2xZrCl6−xNx, x = 0 … 0.25 (measured optimum x = 0.15) and Li2.5Y0.5Zr0.5Cl6 + x wt% BaTiO3 (the
paper gives σ for 0, 5 and 20 wt%). "In training": the given (default: active) model, whose data contain the
series. "Left out": a model retrained with the same parameters after removing every row of the series'
compositions from every source.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mlsse.api import predict
from mlsse.chemistry import composition_key
from mlsse.data.build import load_curated
from mlsse.data.seed import read_seed_table
from mlsse.doping.scanning import scan
from mlsse.models.fitting import train_predictor
from mlsse.models.storage import save_model
from mlsse.workspace.registry import load_predictor


def seed_series() -> dict[str, pd.DataFrame]:
    seed = read_seed_table()
    lzc = seed[seed["dopant"].eq("N") & seed["dopant_site"].eq("Cl")].sort_values("dopant_level")
    bto = seed[seed["additive"].eq("BaTiO3") & seed["sigma_S_cm"].notna()].sort_values("additive_wt_pct")
    return {"LZC-Nx": lzc, "LYZC@xBTO": bto}


def predictions(model) -> dict[str, pd.DataFrame]:
    lzc = scan("Li2ZrCl6", "Cl", ["N"], "0:0.25:0.05", model=model)
    wt = [0.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0]
    bto = predict(pd.DataFrame({"composition": "Li2.5Y0.5Zr0.5Cl6", "additive": "BaTiO3", "additive_wt_pct": wt}),
                  model=model)
    return {"LZC-Nx": lzc.assign(x=lzc["level"]), "LYZC@xBTO": bto.assign(x=bto["additive_wt_pct"])}


def compare(measured: pd.DataFrame, predicted: pd.DataFrame, x_column: str) -> dict:
    merged = pd.DataFrame({"x": measured[x_column].astype(float).round(6), "sigma_S_cm": measured["sigma_S_cm"]}).merge(
        pd.DataFrame({"x": predicted["x"].astype(float).round(6), "log10_sigma": predicted["log10_sigma"]}), on="x")
    rho = spearmanr(np.log10(merged["sigma_S_cm"]), merged["log10_sigma"]).statistic if len(merged) > 2 else np.nan
    return {"points": len(merged), "spearman": rho,
            "measured_optimum": float(merged.loc[merged["sigma_S_cm"].idxmax(), "x"]),
            "predicted_optimum": float(predicted.loc[predicted["log10_sigma"].idxmax(), "x"]),
            "predicted_range": float(predicted["log10_sigma"].max() - predicted["log10_sigma"].min())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model directory (default: the active model)")
    args = parser.parse_args()
    series = seed_series()
    predictor = load_predictor(args.model)
    table = load_curated()
    keys = {composition_key(c) for s in series.values() for c in s["composition"]}
    held_out = table[~table["composition"].map(composition_key).isin(keys)].reset_index(drop=True)
    # each target with the hyper-parameters of the model under test (its objective kept), as a retrain starts
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        left_out = train_predictor(held_out, seed=predictor.metadata.get("seed", 0), trials=0,
                                    start_params=predictor.metadata.get("params"))
        for label, model in (("in training", args.model), ("left out", save_model(left_out, f"{scratch}/left_out"))):
            predicted = predictions(model)
            for name, measured in series.items():
                x_column = "dopant_level" if name == "LZC-Nx" else "additive_wt_pct"
                rows.append({"series": name, "series in training": label,
                             **compare(measured, predicted[name], x_column)})
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(frame.to_string(index=False))
    print(f"\nleft-out model trained on {len(held_out)} of {len(table)} rows (all rows of the series' compositions "
          "removed from every source)")


if __name__ == "__main__":
    main()
