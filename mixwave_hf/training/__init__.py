"""Training the Mix-Wave-U-Net with Accelerate: step-based, resumable, on one device or many processes.

    accelerate launch train_accelerate.py --dataset org/drums --output-dir runs/paper     # N GPUs
    python train_accelerate.py --bundle train.npz --validation-bundle validation.npz \
        --config configs/default_model_cpu.yaml --output-dir runs/cpu                    # one device

Modules: `config` (the YAML sections), `data` (where crops come from), `objectives` (loss, schedule,
EMA, validation), `checkpoints`, `report` (the card's training table), `run` (`TrainingRun`, `train`),
`crop_log` (`--record-crops`), `cli`. How a run works: docs/training.md.
"""

from mixwave_hf.training.checkpoints import (
    CHECKPOINT_MARKER,
    TrainingProgress,
    checkpoint_folders,
    checkpoint_to_resume,
    latest_checkpoint,
    save_checkpoint,
)
from mixwave_hf.training.cli import OPTION_FLAGS, add_arguments, build_parser, main, resolve_config, run_training
from mixwave_hf.training.config import (
    DEFAULT_INIT,
    FLAT_DATA_KEYS,
    CardOptions,
    ConfigError,
    DataOptions,
    LossOptions,
    OptimizerOptions,
    ScheduleOptions,
    TrainingConfig,
    TrainingOptions,
    check_option,
    load_config_file,
    load_init_model,
    option_fields,
    parse_assignment,
    set_option,
)
from mixwave_hf.training.crop_log import CropLog, parameter_checksum
from mixwave_hf.training.data import (
    DataSource,
    first_training_segments,
    fit_balance_gain_db,
    training_crops,
    validation_crops,
)
from mixwave_hf.training.objectives import (
    VALIDATION_METRICS,
    TrainingLoss,
    WarmupDecay,
    exponential_moving_average,
    validate,
)
from mixwave_hf.training.run import TrainingResult, TrainingRun, train

__all__ = [
    "CHECKPOINT_MARKER", "DEFAULT_INIT", "FLAT_DATA_KEYS", "OPTION_FLAGS", "VALIDATION_METRICS", "CardOptions",
    "ConfigError", "CropLog", "DataOptions", "DataSource", "LossOptions", "OptimizerOptions", "ScheduleOptions",
    "TrainingConfig", "TrainingLoss", "TrainingOptions", "TrainingProgress", "TrainingResult", "TrainingRun",
    "WarmupDecay", "add_arguments", "build_parser", "check_option", "checkpoint_folders", "checkpoint_to_resume",
    "exponential_moving_average", "first_training_segments", "fit_balance_gain_db",
    "latest_checkpoint", "load_config_file", "load_init_model", "main", "option_fields", "parameter_checksum",
    "parse_assignment", "resolve_config", "run_training", "save_checkpoint", "set_option", "train", "training_crops",
    "validate", "validation_crops",
]
