"""The shared GAN trainer: state, step functions, checkpoints and the training loop."""
