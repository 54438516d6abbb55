"""The model card: a saved model's provenance, structure and grouped-CV figures, in Markdown."""

from __future__ import annotations

from mlsse.temperature import MIN_EA_FOR_TEMPERATURE_EV


def _n_views(metadata: dict, model: str, key: str = "views") -> int:
    views = metadata.get(f"{model}_params", {}).get(key) or []
    return len(views) if key == "forest_views" else max(1, len(views))


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def model_card(metadata: dict) -> str:
    """Return the Markdown model card for a saved model's metadata.

    Parameters
    ----------
    metadata : dict
        The model's ``metadata.json`` content.

    Returns
    -------
    str
        The card: provenance, model structure, and the grouped-CV table (log10 σ in log10 S/cm, Ea in eV) with
        the interval half-widths.
    """
    metrics = metadata.get("metrics", {})
    lines = [
        f"# mlsse model card: {metadata.get('name', 'model')}",
        "",
        f"- created by mlsse {metadata.get('mlsse_version')} with seed {metadata.get('seed')}; "
        f"features `{metadata.get('featurizer_version')}` ({len(metadata.get('feature_names', []))} columns)",
        f"- data: SHA-256 `{metadata.get('data_sha256', '')[:16]}…`, {metadata.get('n_sigma_rows')} σ rows "
        f"({metadata.get('n_sigma_groups')} papers), {metadata.get('n_ea_rows')} Ea rows "
        f"({metadata.get('n_ea_groups')} papers)",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in sorted(metadata.get('library_versions', {}).items()))}",
        "- σ at temperature T: predicted log10 σ(25 °C) and Ea combined through σT = A·exp(−Ea/k_BT) "
        f"(Ea floored at {MIN_EA_FOR_TEMPERATURE_EV} eV, so σ rises with T)",
        "- censored σ (<1E-10) labelled 1e-15 S/cm (OBELiX convention, as the public benchmarks score it)"
        + ("; a classifier gives the probability p of a censored σ, and the predicted log10 σ is the mean of "
           "the mixture, p·(−15) + (1 − p)·(members' mean), continuous in p; a composition measured in the "
           "training data is predicted at its measured median (see the evidence columns)"
           if metadata.get("sigma_censor_classifier") else ""),
        f"- log10 σ: mean of {_n_views(metadata, 'sigma')} XGBoost boosters, one per feature view (descriptors; "
        f"element fractions + crystal system, space group, cell volume and volume per atom), and "
        f"{_n_views(metadata, 'sigma', 'forest_views')} "
        "random forest(s) on element amounts + space group + lattice constants"
        + (", fitted to the measured rows" if metadata.get("sigma_censor_classifier") else "") + "; Ea: "
        f"{_n_views(metadata, 'ea')} booster(s) on the descriptors; objectives "
        f"{metadata.get('sigma_params', {}).get('objective')} (σ) and "
        f"{metadata.get('ea_params', {}).get('objective')} (Ea)",
        "",
        "## Paper-grouped cross-validation (no paper on both sides of a split)",
        "",
        "| target | rows | MAE | RMSE | R² | Spearman ρ | 80 % interval coverage | in domain: rows, MAE, coverage "
        "| out of domain: rows, MAE, coverage |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # metadata.json stores keys sorted; the card lists σ first whatever the order it is given in.
    for target in sorted(metrics, key=lambda name: (name != "log10_sigma", name != "ea_eV", name)):
        m = metrics[target]
        n_out = m.get("n_out_of_domain")
        by_domain = ("| n/a | n/a" if n_out is None else
                     f"| {m['n'] - n_out}, {m['mae_in_domain']:.3f}, {m['coverage_in_domain']:.3f} "
                     f"| {n_out}, {_number(m['mae_out_of_domain'])}, {_number(m['coverage_out_of_domain'])}")
        lines.append(f"| {target} | {m.get('n')} | {m.get('mae', float('nan')):.3f} "
                     f"| {m.get('rmse', float('nan')):.3f} "
                     f"| {m.get('r2', float('nan')):.3f} | {m.get('spearman', float('nan')):.3f} "
                     f"| {m.get('coverage', float('nan')):.3f} {by_domain} |")
    widths = metadata.get("interval_half_widths")
    lines += ["", "Units: log10 σ in log10(S/cm); Ea in eV. In / out of domain: each row as flagged when its paper "
              "is held out."]
    if widths:
        lines.append("80 % interval half-widths (split-conformal per domain class, on the held-out papers' "
                     "residuals): " + "; ".join(f"{t} ±{w['in_domain']:.3f} in domain, ±{w['out_of_domain']:.3f} "
                                                "out of domain" for t, w in sorted(widths.items(), reverse=True)))
    paired = metadata.get("paired_half_widths")
    if paired:
        def classes(widths) -> str:
            edges = [0, *widths["distance_edges"]]
            return ", ".join(f"±{w:.3f} from {lo:g}" for lo, w in zip(edges, widths["half_widths"]))

        lines.append("80 % interval half-widths of a change versus a host (a difference between two members of one "
                     "doping series, calibrated on held-out series, by the fraction of atoms the two differ by): "
                     + "; ".join(f"{t} {classes(w)}" for t, w in sorted(paired.items(), reverse=True) if w))
    lines.append("")
    return "\n".join(lines)
