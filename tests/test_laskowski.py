"""Laskowski SI table loader: the real PDF extraction, the formula reconstruction rules, and bad input."""

from __future__ import annotations

import math

import pytest
from pymatgen.core import Composition, Element

from mlsse.data.laskowski import LASKOWSKI_DOI_FILE, LASKOWSKI_FILE, clean_space_group, load_laskowski
from mlsse.data.laskowski_formula import charge_balanced, formula_composition, read_formula
from mlsse.data.laskowski_fragments import restore_fragment
from mlsse.data.schema import CURATED_COLUMNS
from mlsse.errors import DataError


def _mix(*parts: tuple[float, str]) -> Composition:
    """Expected composition of a mixture, built independently of the loader."""
    total = Composition()
    for coefficient, formula in parts:
        total += Composition(formula) * coefficient
    return total


def normalized(formula) -> str:
    """Formula string of a reconstructed record formula's composition."""
    return formula.composition.formula


def _same(formula: str, expected: Composition | str) -> bool:
    expected = expected if isinstance(expected, Composition) else Composition(expected)
    return Composition(formula).almost_equals(expected, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------------------------------------------
# The real file
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def laskowski_dir():
    from mlsse.paths import external_data_dir

    try:
        directory = external_data_dir()
    except DataError as exc:
        pytest.skip(f"public data directory not available (shared/data/external beside the project): {exc}")
    for name in (LASKOWSKI_FILE, LASKOWSKI_DOI_FILE):
        if not (directory / name).is_file():
            pytest.skip(f"{name} not found in {directory}")
    return directory


@pytest.fixture(scope="module")
def loaded(laskowski_dir):
    return load_laskowski(laskowski_dir)


@pytest.fixture(scope="module")
def by_line(loaded):
    frame, _ = loaded
    assert frame["source_line"].is_unique
    return frame.set_index("source_line")


def test_frame_has_curated_columns_and_enough_rows(loaded):
    frame, _ = loaded
    assert list(frame.columns) == CURATED_COLUMNS
    has_li = frame["composition"].map(lambda f: Element("Li") in Composition(f))
    assert (has_li & frame["sigma_S_cm"].gt(0)).sum() >= 700
    assert frame["ea_eV"].notna().sum() >= 440
    assert frame["source"].eq("laskowski").all()
    assert frame["value_origin"].eq("table").all()
    assert frame["source_file"].eq(LASKOWSKI_FILE).all()
    assert frame["temperature_C"].eq(25.0).all()
    assert frame["note"].str.startswith("RT assumed 25 °C").all()
    assert frame["ea_eV"].dropna().between(0.05, 3).all()
    assert frame["sigma_S_cm"].between(1e-25, 0.1).all()


def test_every_composition_parses_with_pymatgen(loaded):
    frame, _ = loaded
    for formula in frame["composition"]:
        composition = Composition(formula)
        assert composition.num_atoms > 0, formula
        assert " " not in formula


@pytest.mark.parametrize(("line", "expected"), [
    (13, "Li4SiS4"),                                   # 'Li SiS  4 4'
    (52, "Li6Zr2O7"),                                  # 'Li Zr O  6 2 7'
    (195, "Li10SiP2S12"),                              # 'Li 10 SiP S 2 12'
    (11, "Li0.91Hf2.022(PO4)3"),                       # 'Li0.91Hf2.022(PO )  4 3'
    (170, "La0.65Li0.05(Mg0.5W0.5)O3"),                # 'La 0.65 Li 0.05 (Mg 0.5 W 0.5 )O  3'
    (173, "La0.62Li0.14(Mg0.5W0.5)O3"),                # lines 172-174, empty formula cell on 173
    (213, "Li10.2(Sn0.2Si0.8)1.2P1.8S12"),             # lines 212-214
    (305, "Li1.3(Al0.23Ga0.07Ti1.7)(PO4)3"),           # '(P' + 'O4)3'
    (1617, "(Li0.39La0.54)1.006Al0.006Ti0.994O3"),     # 'Ti0' + '.994O3'
    (552, "Li6.375La3Zr1.375Nb0.625O12"),              # 'O1' + '2'
    (230, "Li4SrN2"),                                  # 'Li SrN4 2', charge balance decides
    (643, "Li2GeS3"),                                  # 'Li GeS2 3'
    (418, "Li6P(S4.8Se0.2)Br"),                        # 'Li P(S6 4.8Se0.2)Br'
    (18, "Li3.5Si0.5P0.5S4"),                          # typo 'P05'
    (1677, "Li0.18La0.61TiO3"),                        # 'La o.61'
    (476, "Li0.375Sr0.4375Zr0.25Ta0.75O3"),            # 'Ta0.75o3'
    (1690, "LiHf2(PO4)3"),                             # typo '(P04)3'
    (461, "Li0.31La0.63(Ti0.9Co0.1)O3"),               # doubled '(('
    (32, "Li0.6(Li0.2Sn0.8S2)"),                       # square brackets
])
def test_tricky_lines_give_the_exact_composition(by_line, line, expected):
    assert _same(by_line.loc[line, "composition"], expected), by_line.loc[line, ["composition", "material"]]


@pytest.mark.parametrize(("line", "expected"), [
    (1402, _mix((0.7, "Li2S"), (0.3, "P2S5"))),                           # '0.7Li2S- 0.3P S2 5'
    (635, _mix((0.7, "Li2S"), (0.3, "P2S5"))),
    (1406, _mix((0.7, "Li2S"), (0.29, "P2S5"), (0.01, "Li3PO4"))),        # lines 1405-1407
    (1419, _mix((0.99 * 0.7, "Li2S"), (0.99 * 0.3, "P2S5"), (0.01, "Li2ZrO3"))),
    (1603, _mix((1, "LiTi2(PO4)3"), (0.3, "LiBO3"))),                     # 'LiTi2(PO4)3-0.3LiBO  3'
    (1403, _mix((0.9, "Li3PS4"), (10, "ZnO"))),                           # '0.9Li PS ·10ZnO 3 4'
    (153, _mix((1, "LiCl"), (1, "H2O"))),                                 # 'LiCl*H2O'
    (1309, _mix((0.65, "Li2S"), (0.15, "Li2O"), (0.2, "P2S5"))),          # '0.65Li S-0.1Li O-2 2' style
    (758, _mix((0.55 * 2, "Li2S"), (0.55, "P2S5"), (0.45, "LiI"))),       # '(2Li S-P S ) 2 2 5 0.55 (LiI) 0.45'
    (685, _mix((0.4, "Li2S"), (0.6, "GeS2"))),                            # '0.4(Li S) 0.6(GeS ) 2 2'
    (1441, _mix((0.45, "B2S3"), (0.55, "Li2S"))),                         # '0.45B S -0.55Li2 3 2S'
    (664, _mix((80, "Li2S"), (20, "P2S5"))),                              # '80Li2S * 20P2S5'
    (1030, _mix((0.67, "Li2S"), (0.33, "SiS2"), (0.75, "Li2S"), (0.25, "P2S5"))),
    (926, _mix((0.5025, "Li2O"), (0.0025, "Al2O3"), (0.095, "TiO2"), (0.4, "P2O5"))),  # middle piece on 926
    (605, _mix((1, "Li7La3Zr2O12"), (1, "Ga"))),                          # component without coefficient
])
def test_composites_sum_coefficient_times_component(by_line, line, expected):
    assert _same(by_line.loc[line, "composition"], expected), by_line.loc[line, ["composition", "material"]]


def test_wt_percent_additive_stays_in_the_additive_columns(by_line):
    row = by_line.loc[1192]  # 'Li PS  – 2 wt% Al O  3 4 2 3'
    assert _same(row["composition"], "Li3PS4")
    assert row["additive"] == "Al2O3" and row["additive_wt_pct"] == 2.0
    assert row["material"] == "Li3PS4 – 2 wt% Al2O3"
    glass = by_line.loc[1171]  # additive itself a mixture, spread over lines 1170-1172
    assert glass["additive"] == "40.2Li2O·5.7Y2O3·54.1SiO2" and glass["additive_wt_pct"] == 5.0


def test_name_fragments_give_the_phase_prefix(by_line):
    row = by_line.loc[9]  # ',,,,,β-,,' / 'Li6CuB4O10 … Li6CuB4' / ',,,,,O10,,'
    assert row["material"] == "β-Li6CuB4O10"
    assert _same(row["composition"], "Li6CuB4O10")
    assert "ICSD 4819" in row["note"]
    assert row["sigma_S_cm"] == 1e-13 and row["ea_eV"] == 0.92
    assert by_line.loc[63, "material"] == "β’-Li3.7Zn0.7Ga0.3(PO4)2"  # two name lines above, two below
    assert by_line.loc[67, "material"] == "γ-Li3PS4"
    assert by_line.loc[112, "material"] == "γ-Li3PO4"  # name on the line above
    assert by_line.loc[458, "material"] == "β-Li8GeP4"  # prefix printed in the formula cell too
    assert "name '“cubic LLZO”'" in by_line.loc[598, "note"]


def test_censored_rows_keep_the_detection_limit(by_line, loaded):
    row = by_line.loc[6]  # 'Li4P2O7,<1E-10,1.617'
    assert bool(row["censored"]) and row["sigma_S_cm"] == 1e-10 and row["ea_eV"] == 1.617
    assert math.isclose(row["log10_sigma"], -10)
    typo = by_line.loc[633]  # '<1E10'
    assert bool(typo["censored"]) and typo["sigma_S_cm"] == 1e-10 and "exponent sign missing" in typo["note"]
    assert by_line.loc[226, "sigma_S_cm"] == 1e-8 and bool(by_line.loc[226, "censored"])
    frame, _ = loaded
    assert frame["censored"].sum() == 37  # every '<' cell of the file
    assert not frame.loc[~frame["censored"], "note"].str.contains("censored").any()


def test_numbers_with_overlines_and_unicode_minus(by_line):
    assert by_line.loc[1, "sigma_S_cm"] == 1.30e-10  # '1.30E-10̅'
    assert by_line.loc[3, "ea_eV"] == 0.58  # '0.58̅'
    assert by_line.loc[32, "sigma_S_cm"] == 1.2e-4  # '1.2E−4'


def test_references_come_from_the_doi_lookup(by_line):
    assert by_line.loc[3, "reference"] == "10.1021/ic030208w"  # ref 3
    assert by_line.loc[213, "reference"] == "10.1021/acs.chemmater.7b00886.s001"  # ref 111 on the head line 212
    assert by_line.loc[487, "reference"] == "10.1021/ja305709z; 10.1016/j.ssi.2015.11.027"  # '194-195'
    assert by_line.loc[176, "reference"] == "Laskowski SI"
    assert "no reference number" in by_line.loc[176, "note"]


def test_space_groups_are_cleaned_and_numbered(by_line, loaded):
    frame, _ = loaded
    expected = {5: ("P-1", 2), 13: ("P21/m", 11), 248: ("R-3c", 167), 159: ("P4122", 91), 206: ("P42/nmc", 137),
                183: ("P42/nmc", 137), 196: ("P42/nmc", 137), 71: ("Cmc21", 36), 376: ("I213", 199),
                380: ("Pn-3", 201), 162: ("P-42c", 112)}
    for line, (symbol, number) in expected.items():
        assert (by_line.loc[line, "space_group"], by_line.loc[line, "space_group_number"]) == (symbol, number), line
    assert "\u0305" not in "".join(frame["space_group"])
    assert frame["space_group_number"].dropna().between(1, 230).all()
    assert "not the standard symbol 'P-1'" in by_line.loc[1, "note"]  # 'C-1' is a non-standard setting


def test_fixed_typos_and_ambiguities_are_noted(by_line):
    assert "typo '05' read as '0.5'" in by_line.loc[18, "note"]
    assert "typo 'o.61' read as '0.61'" in by_line.loc[1677, "note"]
    assert "typo '04' read as 'O4'" in by_line.loc[1690, "note"]
    assert "read as 'Li4SrN2' (charge balanced), not 'Li2SrN4'" in by_line.loc[230, "note"]
    assert "subscripts restored from 'Li SiS  4 4'" in by_line.loc[13, "note"]
    assert "component 'Li2' read as 'Li2S'" in by_line.loc[1072, "note"]
    assert "possible typo" in by_line.loc[722, "note"]  # 'Li1.94Cl1.03Cl4'


def test_unparsable_rows_come_back_as_errors_with_lines(loaded, laskowski_dir):
    frame, problems = loaded
    assert {p.line for p in problems} == {474, 607}  # formula start missing: only ')O3' / '0.07Al' follow
    for problem in problems:
        assert isinstance(problem, DataError)
        assert problem.path == laskowski_dir / LASKOWSKI_FILE
        assert "cannot reconstruct formula" in problem.problem
        assert problem.line not in set(frame["source_line"])
    assert 473 in set(frame["source_line"]) and 476 in set(frame["source_line"])  # neighbours unharmed


# ----------------------------------------------------------------------------------------------------------------
# Reconstruction rules on small strings
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fragment", "expected"), [
    ("Li SiS  4 4", "Li4SiS4"),
    ("Li Zr O  6 2 7", "Li6Zr2O7"),
    ("Li 10 SiP S 2 12", "Li10SiP2S12"),
    ("Li0.91Hf2.022(PO )  4 3", "Li0.91Hf2.022(PO4)3"),
    ("La 0.65 Li 0.05 (Mg 0.5 W 0.5 )O  3", "La0.65Li0.05(Mg0.5W0.5)O3"),
    ("Li 10.35 (Sn 0.2 Si 0.8 ) 1.35 P1.65", "Li10.35(Sn0.2Si0.8)1.35P1.65"),
    ("0.65Li S-0.1Li O-2 2", "0.65Li2S-0.1Li2O-"),
    ("0.7Li2S-0.29P S -2 5", "0.7Li2S-0.29P2S5-"),
    ("0.1 LiBr-0.45 SiS -0.45 2", "0.1LiBr-0.45SiS2-0.45"),
    ("LiTi (PO ) -0.6Li SO  2 4 3 2 4", "LiTi2(PO4)3-0.6Li2SO4"),
    ("Li P 6 0.64 Ge 0.36 S I 5", "Li6P0.64Ge0.36S5I"),
    ("0.6(Li O) * 0.5(P O ) 2 2 5", "0.6(Li2O) * 0.5(P2O5)"),
    ("0.2(Li2S) 0.8(GeS2)", "0.2(Li2S) 0.8(GeS2)"),
    ("Li PS  – 2 wt% Al O  3 4 2 3", "Li3PS4 – 2 wt% Al2O3"),
    ("(2Li S-P S ) 2 2 5 0.55 (LiI) 0.45", "(2Li2S-P2S5)0.55(LiI)0.45"),
    ("0.26B2S3 – 0.31Li S – 2", "0.26B2S3 – 0.31Li2S –"),
    ("Li0.12Lao.63TiO3", "Li0.12La0.63TiO3"),
    (".994O3", ".994O3"),
])
def test_restore_fragment_puts_dropped_subscripts_back(fragment, expected):
    assert restore_fragment(fragment)[0].text == expected


def test_restore_fragment_offers_the_other_reading_of_a_glued_run():
    readings = [r.text for r in restore_fragment("Li SrN4 2")]
    assert readings == ["Li4SrN2", "Li2SrN4"]
    assert [r.text for r in restore_fragment("0.7Li2S- 0.3P S2 5")] == ["0.7Li2S-0.3P2S5", "0.7Li2S-0.3P5S2"]


def test_restore_fragment_rejects_numbers_that_do_not_fit_the_gaps():
    with pytest.raises(ValueError, match="cannot place"):
        restore_fragment("0.6Li S-0.4P S2 3")  # three gaps, two numbers: a subscript was lost
    with pytest.raises(ValueError, match="unexpected character"):
        restore_fragment("Li3PS4 & P2S5")


def test_read_formula_joins_fragments_and_uses_charge_balance():
    assert _same(normalized(read_formula(["Li SrN4 2"])), "Li4SrN2")
    joined = read_formula(["(Li0.39La0.54)1.006Al0.006Ti0", ".994O3"])
    assert joined.label == "(Li0.39La0.54)1.006Al0.006Ti0.994O3"
    three = read_formula(["0.7Li2S-0.29P S -2 5", "0.01Li3PO4"])
    assert _same(normalized(three), _mix((0.7, "Li2S"), (0.29, "P2S5"), (0.01, "Li3PO4")))
    assert _same(normalized(read_formula(["LiHf2(P04)3"])), "LiHf2(PO4)3")
    assert _same(normalized(read_formula(["Li3.5Si0.5P05S4"])), "Li3.5Si0.5P0.5S4")
    phase = read_formula(["β-Li8GeP4"])
    assert phase.prefix == "β-" and phase.label == "Li8GeP4"


def test_formula_composition_of_mixtures():
    composition, leaves, additive, pct, _ = formula_composition("0.99(0.7Li2S-0.3P2S5)-0.01Li2ZrO3")
    assert composition.almost_equals(_mix((0.693, "Li2S"), (0.297, "P2S5"), (0.01, "Li2ZrO3")), rtol=1e-9)
    assert leaves == ["Li2S", "P2S5", "Li2ZrO3"] and additive == "" and math.isnan(pct)
    composition, *_ = formula_composition("(2Li2S-P2S5)0.85(LiI)0.15")
    assert composition.almost_equals(_mix((1.7, "Li2S"), (0.85, "P2S5"), (0.15, "LiI")), rtol=1e-9)
    composition, *_ = formula_composition("Li0.6[Li0.2Sn0.8S2]")
    assert composition.almost_equals(Composition("Li0.8Sn0.8S2"), rtol=1e-9)
    composition, _, additive, pct, notes = formula_composition("Li3PS4 – 5 wt% Al2O3")
    assert composition.almost_equals(Composition("Li3PS4")) and additive == "Al2O3" and pct == 5.0
    with pytest.raises(ValueError, match="empty component"):
        formula_composition("Li2S-")
    with pytest.raises(ValueError, match="unbalanced"):
        formula_composition("Li2(SO4")


def test_clean_space_group():
    assert clean_space_group("P1\u0305", 2) == ("P-1", [])
    assert clean_space_group("R3\u0305cH", 167) == ("R-3c", [])
    assert clean_space_group("P2 /m 1", 11) == ("P21/m", [])
    assert clean_space_group("P4 /nmcS 2", 137) == ("P42/nmc", [])
    symbol, notes = clean_space_group("P42/nmc C", 137)
    assert symbol == "P42/nmc" and "stray 'C'" in notes[0]
    assert clean_space_group("", math.nan) == ("", [])


def test_charge_balance_needs_one_common_state_per_element():
    assert charge_balanced("Li4SrN2") is True
    assert charge_balanced("Li2SrN4") is False  # pymatgen alone balances it with mixed-valence N
    assert charge_balanced("SiS2") is True
    assert charge_balanced("SiS") is False  # not as Si4- S4+
    assert charge_balanced("Li3.5Si0.5P0.5S4") is True  # scaled to integers first
    assert charge_balanced("Al") is None


# ----------------------------------------------------------------------------------------------------------------
# Bad and tiny input files
# ----------------------------------------------------------------------------------------------------------------

def _write(tmp_path, table: str, lookup: str = "ref. number,DOI\n1,10.1000/ONE\n2,10.1000/two\n"):
    (tmp_path / LASKOWSKI_FILE).write_text(table, encoding="utf-8")
    if lookup is not None:
        (tmp_path / LASKOWSKI_DOI_FILE).write_text(lookup, encoding="utf-8")
    return tmp_path


def test_wrong_number_of_columns_is_reported_with_its_line(tmp_path):
    directory = _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n"
                                 "Li7P3S11,1E-3,0.2,P-1,2,,1\n"
                                 "Li2S,1E-9,,,,,,2\n")
    frame, problems = load_laskowski(directory)
    assert [(p.line, p.problem) for p in problems] == [(2, "expected 8 comma-separated columns, found 7")]
    assert str(problems[0]).startswith(f"{directory / LASKOWSKI_FILE}, line 2")
    assert frame["source_line"].tolist() == [1, 3]
    assert frame["reference"].tolist() == ["10.1000/one", "10.1000/two"]


def test_tiny_file_with_a_wrapped_formula_and_bad_rows(tmp_path):
    directory = _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n"
                                 "Li10.2(Sn0.2Si0.8)1.2P1.8S,,,,,,,2\n"
                                 ",7.82E-3,,P42/nmcS,137,,5667,\n"
                                 "12,,,,,,,\n"
                                 "Li4GeS4,2E-7,0.53,Pnma,62,,,9\n"
                                 "Li3InCl6,,,,,,,1\n"
                                 "Li6PS5Cl,2E-3,,,,,,1\n"
                                 ",4E-4,,Ia3\u0305d,230,,,2\n"
                                 "0.07Al,,,,,,,\n"
                                 "Li2S,abc,,,,,,1\n")
    frame, problems = load_laskowski(directory)
    wrapped = frame.set_index("source_line").loc[3]
    assert _same(wrapped["composition"], "Li10.2(Sn0.2Si0.8)1.2P1.8S12")
    assert wrapped["space_group"] == "P42/nmc" and wrapped["reference"] == "10.1000/two"
    assert "ICSD 5667" in wrapped["note"]
    assert frame.set_index("source_line").loc[5, "reference"] == "Laskowski SI ref 9"
    reported = {p.line: p.problem for p in problems}
    assert set(reported) == {6, 8, 10}
    assert "no conductivity and no Ea" in reported[6]
    assert "cannot reconstruct formula" in reported[8] and "'0.07Al'" in reported[8]
    assert "'abc' is not a number" in reported[10]
    assert sorted(frame["source_line"]) == [1, 3, 5, 7]


def test_missing_files_raise_naming_the_path(tmp_path):
    _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n", lookup=None)
    with pytest.raises(DataError) as info:
        load_laskowski(tmp_path)
    assert info.value.path == tmp_path / LASKOWSKI_DOI_FILE and "not found" in str(info.value)
    _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n")
    (tmp_path / LASKOWSKI_FILE).unlink()
    with pytest.raises(DataError) as info:
        load_laskowski(tmp_path)
    assert info.value.path == tmp_path / LASKOWSKI_FILE and "not found" in str(info.value)
    with pytest.raises(DataError, match="external data directory not found"):
        load_laskowski(tmp_path / "absent")


def test_malformed_doi_lookup_raises_with_line(tmp_path):
    _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n", lookup="ref. number,DOI\n1,10.1/x\nthree,10.1/y\n")
    with pytest.raises(DataError) as info:
        load_laskowski(tmp_path)
    assert info.value.line == 3 and info.value.path == tmp_path / LASKOWSKI_DOI_FILE


def test_conflicting_doi_is_reported_and_the_first_kept(tmp_path):
    _write(tmp_path, "Li3PS4,1E-4,0.3,Pnma,62,,,1\n", lookup="1,10.1/x\n1,10.1/x\n1,10.1/y\n")  # no header
    frame, problems = load_laskowski(tmp_path)
    assert frame["reference"].tolist() == ["10.1/x"]
    assert [(p.line, p.path.name) for p in problems] == [(3, LASKOWSKI_DOI_FILE)]
