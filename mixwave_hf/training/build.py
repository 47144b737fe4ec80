"""Building a run's parts from its config: the accelerator, the model and its data, the loaders, the optimizer.

    accelerator = build_accelerator(config.training, output_dir, cpu=False)
    config, model, crops_config, crops, validation_set = build_model_and_data(config, source, accelerator)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from mixwave_hf.data.schema import DatasetError
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training.config import ConfigError, TrainingConfig, TrainingOptions
from mixwave_hf.training.convolutions import training_convolutions
from mixwave_hf.training.data import (
    DataSource,
    first_training_segments,
    fit_balance_gain_db,
    training_crops,
    validation_crops,
)
from mixwave_hf.training.objectives import WarmupDecay


def build_accelerator(options: TrainingOptions, output_dir: Path, cpu: bool):
    """The run's `accelerate.Accelerator`: TensorBoard logging and numbered checkpoints under `output_dir`."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration

    return Accelerator(
        cpu=cpu,
        mixed_precision=options.mixed_precision,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        log_with="tensorboard",
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs"),
                                            automatic_checkpoint_naming=True, total_limit=options.checkpoints_kept),
        # Each process streams its own shards (docs/data-loading.md); batches are never dispatched.
        dataloader_config=DataLoaderConfiguration(dispatch_batches=False),
        # Steps are optimizer updates whatever the number of processes: the run steps the schedule
        # itself, once per update (Accelerate's wrapper would step it once per process).
        step_scheduler_with_optimizer=False,
    )


def build_model_and_data(config: TrainingConfig, source: DataSource, accelerator):
    """(config, model, its CropConfig, this process's training crops, the validation set or None). A
    `balance_gain_db` of null is fitted on the data first and written into the returned config. Every
    process builds the same initial weights (seeded by training.seed). On the CPU the model's long-kernel
    convolutions take `convolutions.cpu_training_convolutions`' backward
    (`training_convolutions`)."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    options, fit_balance = config.training, config.model.balance_gain_db is None
    set_seed(options.seed)
    model = MixWaveUNet(config.model, balance_gain_db=0.0) if fit_balance else MixWaveUNet(config.model)
    crops_config = config.crop_config()
    try:  # the data does not fit the config (slots, target, shards for the readers, a missing split)
        crops = training_crops(source, crops_config, config.data, accelerator.process_index,
                               accelerator.num_processes)
        validation_set = validation_crops(source, crops_config, config.data) if options.validate_every else None
        if fit_balance:  # every process fits the same value from the same segments
            gain_db = fit_balance_gain_db(first_training_segments(source, crops_config, config.data), model)
            config = replace(config, model=replace(config.model, balance_gain_db=round(gain_db, 4)))
            if accelerator.is_main_process:
                tqdm.write(f"model.balance_gain_db fitted on the training data: {gain_db:+.2f} dB")
            set_seed(options.seed)
            model = MixWaveUNet(config.model)
    except DatasetError as error:  # names the dataset or bundle file itself
        raise ConfigError(str(error)) from error
    except ValueError as error:
        raise ConfigError(f"{source.dataset or source.bundle}: {error}") from error
    return config, training_convolutions(model, accelerator.device), crops_config, crops, validation_set


def build_loaders(config: TrainingConfig, crops, validation_set, accelerator):
    """(the training crops' StatefulDataLoader, the prepared validation DataLoader or None). The training
    loader is not prepared: Accelerate would shard the already sharded stream again and drop data."""
    from torchdata.stateful_dataloader import StatefulDataLoader

    loader = StatefulDataLoader(crops, batch_size=config.training.batch_size, num_workers=config.data.num_workers,
                                pin_memory=accelerator.device.type == "cuda")
    validation = None
    if validation_set is not None:
        validation = accelerator.prepare(torch.utils.data.DataLoader(validation_set,
                                                                     batch_size=config.training.batch_size))
    return loader, validation


def build_optimizer(config: TrainingConfig, model: torch.nn.Module):
    """(optimizer, LambdaLR scheduler, its WarmupDecay) as configured."""
    options = config.optimizer
    optimizer_class = torch.optim.AdamW if options.name == "adamw" else torch.optim.Adam
    optimizer = optimizer_class(model.parameters(), lr=options.lr, betas=options.betas,
                                weight_decay=options.weight_decay)
    schedule = WarmupDecay.from_options(config.schedule, config.training.steps)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule), schedule
