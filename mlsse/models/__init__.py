"""The σ and Ea models: targets, feature views and fitting, the estimator, intervals and domain, evidence,
evaluation and storage. Import from the modules (``mlsse.models.fitting`` …); nothing is loaded here."""
