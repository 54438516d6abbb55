"""`mlsse rank` and `mlsse.rank`: a chemist's own list, ranked per group as a doping scan ranks its candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_cli import run


def test_rank_orders_each_group_against_its_reference_as_dope_does(small_model):
    from mlsse.doping.ranking import RANK_COLUMNS, rank
    from mlsse.doping.scanning import scan

    scanned = scan("Li2ZrCl6", "Zr", ["Y", "In"], "0:0.2:0.1", model=small_model)
    candidates = scanned.drop_duplicates("composition")[["composition"]].reset_index(drop=True)
    host_first = pd.concat([pd.DataFrame({"composition": ["Li2ZrCl6"]}),
                            candidates[candidates["composition"] != "Li2ZrCl6"]], ignore_index=True)
    ranked = rank(host_first.assign(batch="one"), group="batch", model=small_model)
    assert ranked.columns[-len(RANK_COLUMNS):].tolist() == RANK_COLUMNS
    assert set(ranked["reference"]) == {"Li2ZrCl6"}  # the group's first row
    assert ranked["rank"].tolist() == sorted(ranked["rank"].tolist())
    assert ranked["rank_score"].is_monotonic_decreasing
    # The same change versus the host, the same paired interval and the same probability as the dope table.
    by_composition = scanned.drop_duplicates("composition").set_index("composition")
    for _, row in ranked.iterrows():
        expected = by_composition.loc[row["composition"]]
        assert row["delta_log10_sigma"] == pytest.approx(expected["delta_log10_sigma"], abs=1e-9)
        assert row["delta_log10_sigma_hi"] == pytest.approx(expected["delta_log10_sigma_hi"], abs=1e-9)
        assert row["delta_ea_eV"] == pytest.approx(expected["delta_ea_eV"], abs=1e-9)
        if row["composition"] == "Li2ZrCl6":
            assert row["versus_reference"] == "reference" and np.isnan(row["p_beats_reference"])
        else:
            assert row["p_beats_reference"] == pytest.approx(expected["p_beats_host"], abs=1e-9)


def test_rank_groups_apart_with_a_reference_column_or_formula_and_keeps_bad_rows(small_model):
    from mlsse.doping.ranking import rank
    from mlsse.doping.substitution import DopingError

    candidates = pd.DataFrame({"composition": ["Li3YCl6", "Li3InCl6", "LiQq", "Li2ZrCl6", "Li2.2ZrCl5.9N0.1"],
                               "series": ["Y", "Y", "Y", "Zr", "Zr"], "mine": ["", "yes", "", "x", ""],
                               "id": [1, 2, 3, 4, 5]})
    ranked = rank(candidates, group="series", reference="mine", model=small_model)
    assert ranked["group"].tolist() == ["Y", "Y", "Y", "Zr", "Zr"]  # groups in order of appearance
    assert ranked["id"].tolist()[2] == 3  # a row without a prediction goes last in its group
    y = ranked[ranked["group"] == "Y"]
    assert set(y["reference"]) == {"Li3InCl6"} and set(ranked[ranked["group"] == "Zr"]["reference"]) == {"Li2ZrCl6"}
    bad = ranked[ranked["composition"] == "LiQq"].iloc[0]
    assert pd.isna(bad["rank"]) and bad["note"] == "unknown element 'Qq' in 'LiQq'"
    assert sorted(ranked["id"]) == [1, 2, 3, 4, 5]  # every row kept, with its columns
    against = rank(candidates, reference="Li3YCl6", model=small_model)
    assert set(against["reference"]) == {"Li3YCl6"} and len(against) == 5
    assert against.loc[against["composition"] == "Li3YCl6", "versus_reference"].tolist() == ["reference"]
    with pytest.raises(DopingError, match="--group 'nope' names no column"):
        rank(candidates, group="nope", model=small_model)
    with pytest.raises(DopingError, match="marks 0 rows of group 'Y'"):
        rank(candidates.assign(mine=""), group="series", reference="mine", model=small_model)


def test_rank_command_writes_the_file_and_prints_each_group(small_model, tmp_path):
    pd.DataFrame({"composition": ["Li2ZrCl6", "Li2.2ZrCl5.9N0.1", "Li3YCl6"], "series": ["Zr", "Zr", "Y"]}
                 ).to_csv(tmp_path / "cands.csv", index=False)
    result = run(["rank", "--input", "cands.csv", "--output", "ranked.json", "--group", "series", "--model",
                  str(small_model)], tmp_path, tmp_path)
    assert "group Zr: Δ relative log10 σ (ranking, 25 °C) versus Li2ZrCl6" in result.stdout
    assert "group Y:" in result.stdout and "3 candidates ranked -> ranked.json" in result.stdout
    written = pd.read_json(tmp_path / "ranked.json")
    assert written["group"].tolist() == ["Zr", "Zr", "Y"] and written["rank"].tolist() == [1, 2, 1]
    result = run(["rank", "--input", "cands.csv", "--group", "nope", "--model", str(small_model)], tmp_path,
                 tmp_path, check_code=2)
    assert result.stderr.strip() == "error: --group 'nope' names no column; found ['composition', 'series']"
    assert not (tmp_path / "ranked.csv").exists()
