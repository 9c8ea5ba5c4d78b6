"""Metalabels (Lopez de Prado): a second opinion on each strategy, P(its next ``horizon``
observed returns over its factors compound to > 0 | what was known at t).

Pure functions over polars frames: the labels and their window ends (``metalabel_labels``),
the features known at t (``metalabel_features``), a purged, embargoed K-fold over dates
(``PurgedDateKFold``, a scikit-learn ``cv=``), the classifier with model choice and
calibration by purged cross-validation (``fit_metalabel_model`` -> ``MetalabelModel``),
the walk-forward driver (``walk_forward``) and the out-of-sample scores
(``metalabel_scores`` and friends; ``scores_so_far`` for those known on a day); and for the
product (``_store``): the labels' regressor returns, the model artefact, matured outcomes.
"""

from twin_model.metalabel._features import FEATURE_COLUMNS, metalabel_features
from twin_model.metalabel._labels import (
    BETAS_SCHEMA,
    DEFAULT_HORIZON,
    LABEL_SCHEMA,
    betas_from_posteriors,
    metalabel_labels,
)
from twin_model.metalabel._model import (
    MetalabelModel,
    MetalabelSettings,
    fit_metalabel_model,
    monthly_refit_dates,
    training_rows,
)
from twin_model.metalabel._purged_cv import PurgedDateKFold
from twin_model.metalabel._scores import (
    MetalabelScores,
    auc,
    brier_score,
    log_loss,
    metalabel_scores,
    month_block_auc_interval,
    reliability_table,
    within_date_auc,
)
from twin_model.metalabel._store import (
    MODEL_ARTIFACT_SCHEMA,
    decode_model,
    encode_model,
    matured_outcomes,
    regressor_returns,
)
from twin_model.metalabel._walk_forward import WALK_FORWARD_SCHEMA, scores_so_far, walk_forward

__all__ = [
    "BETAS_SCHEMA",
    "DEFAULT_HORIZON",
    "FEATURE_COLUMNS",
    "LABEL_SCHEMA",
    "MODEL_ARTIFACT_SCHEMA",
    "WALK_FORWARD_SCHEMA",
    "MetalabelModel",
    "MetalabelScores",
    "MetalabelSettings",
    "PurgedDateKFold",
    "auc",
    "betas_from_posteriors",
    "brier_score",
    "decode_model",
    "encode_model",
    "fit_metalabel_model",
    "log_loss",
    "matured_outcomes",
    "metalabel_features",
    "metalabel_labels",
    "metalabel_scores",
    "month_block_auc_interval",
    "monthly_refit_dates",
    "regressor_returns",
    "reliability_table",
    "scores_so_far",
    "training_rows",
    "walk_forward",
    "within_date_auc",
]
