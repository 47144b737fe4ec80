"""Train the Mix-Wave-U-Net with Accelerate: a thin entry point over `mixwave_hf.training`.

    accelerate launch train_accelerate.py --dataset org/drums --output-dir runs/paper [--config TRAIN.yaml]
    python train_accelerate.py --bundle train.npz --validation-bundle validation.npz --output-dir runs/cpu
    python train_accelerate.py --init-from default --dataset out/mine --output-dir runs/finetune --lr 3e-5

`python train_accelerate.py --help` lists the options; configs/train_default.yaml documents the config.
"""

import sys

from mixwave_hf.training import main

if __name__ == "__main__":
    sys.exit(main())
