"""``python -m gansynth_zoo``, the console script's entry point (what ``torchrun -m gansynth_zoo`` starts)."""
from gansynth_zoo.cli import main

main()
