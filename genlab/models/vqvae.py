"""VQ-VAE (van den Oord et al. 2017) and its PixelCNN prior, as two phases of one run.

The encoder maps an image to a grid of ``latent_dim``-long vectors; each is replaced by
its nearest codebook entry (genlab.models.quantizer) and the decoder rebuilds the image
from the grid. The loss is the reconstruction term plus the codebook loss and
``commitment_cost`` times the commitment loss. After ``trainer.steps`` of that, the
prior (genlab.models.pixelcnn) learns the grids of code indices of training images
for ``model.prior.steps``; ``genlab sample`` draws grids from it and decodes them.

For the commands, a code is the grid of entries flattened to one vector
(``latent_dim`` here is that vector's length).
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from genlab.config.schema import VQVAEConfig
from genlab.errors import GenlabError
from genlab.models import nets
from genlab.models.ae import reconstruction_error
from genlab.models.base import GenerativeModel, Objective, OptimizerFactory, Phase, Update
from genlab.models.pixelcnn import pixelcnn, sample_indices
from genlab.models.quantizer import VectorQuantizer, perplexity

PRIOR_METRICS = ("prior_loss",)


class VQVAE(GenerativeModel):
    name = "vqvae"
    metric_names = ("loss", "reconstruction", "codebook", "commitment", "perplexity")
    has_prior = True  # the PixelCNN, once trained
    has_discrete_codes = True

    def __init__(self, config: VQVAEConfig, image_shape: tuple[int, int, int], make_optimizer: OptimizerFactory):
        self.config = config
        self.image_shape = image_shape
        self.encoder = nets.grid_encoder(image_shape, config.encoder, config.latent_dim, name="encoder")
        height, width = (int(size) for size in self.encoder.output_shape[1:3])
        self.grid_shape = (height, width, config.latent_dim)
        self.latent_dim = math.prod(self.grid_shape)
        self.decoder = nets.grid_decoder(self.grid_shape, image_shape, config.decoder, name="decoder")
        self.quantizer = VectorQuantizer(
            config.num_embeddings, config.latent_dim, config.codebook_update, config.codebook_decay, name="quantizer"
        )
        self.optimizer = make_optimizer()
        self.prior = pixelcnn((height, width), config.num_embeddings, config.prior)
        self.prior_optimizer = make_optimizer()
        self.prior_optimizer.learning_rate = config.prior.learning_rate

    # ------------------------------------------------------------------ training

    @property
    def variables(self) -> list:
        return self.encoder.trainable_variables + self.decoder.trainable_variables + self.quantizer.trainable_variables

    def trackables(self) -> dict[str, object]:
        return {
            "encoder": self.encoder,
            "decoder": self.decoder,
            "quantizer": self.quantizer,
            "optimizer": self.optimizer,
            "prior": self.prior,
            "prior_optimizer": self.prior_optimizer,
        }

    def build_optimizers(self) -> None:
        self.optimizer.build(self.variables)
        self.prior_optimizer.build(self.prior.trainable_variables)

    def phases(self, steps: int) -> tuple[Phase, ...]:
        """The VQ-VAE, then its prior on the frozen VQ-VAE's codes (model.prior.steps; none for 0)."""
        autoencoder = ("encoder", "decoder", "quantizer")
        prior = Update(self.prior_losses, (Objective("prior_loss", self.prior_optimizer, lambda: self.prior.trainable_variables),))
        made = {
            "vqvae": lambda count: Phase("vqvae", count, self.updates(), self.metric_names, trains=autoencoder, freezes=("prior",)),
            "prior": lambda count: Phase("prior", count, (prior,), PRIOR_METRICS, trains=("prior",), freezes=autoencoder),
        }
        return tuple(made[name](count) for name, count in self.config.phases(steps))

    def losses(self, images: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        quantized = self.quantizer.discretize(self.encoder(images, training=training))
        logits = self.decoder(quantized.codes, training=training)
        reconstruction = tf.reduce_mean(reconstruction_error(self.config.reconstruction_loss, images, logits))
        if self.config.reconstruction_reduction == "mean":
            reconstruction = reconstruction / float(math.prod(self.image_shape))
        codebook = quantized.codebook_loss if self.config.codebook_update == "loss" else tf.constant(0.0)
        loss = (
            self.config.reconstruction_weight * reconstruction
            + codebook
            + self.config.commitment_cost * quantized.commitment_loss
        )
        return {
            "loss": loss,
            "reconstruction": reconstruction,
            "codebook": quantized.codebook_loss,
            "commitment": quantized.commitment_loss,
            "usage": quantized.usage,
            "entry_means": quantized.entry_means,
        }

    def updates(self) -> tuple[Update, ...]:
        objective = Objective("loss", self.optimizer, lambda: self.variables)
        return (Update(lambda images, rng: self.losses(images, training=True), (objective,), after=self._after_update),)

    def _after_update(self, metrics: dict[str, tf.Tensor], images: tf.Tensor) -> dict[str, tf.Tensor]:
        """The codebook's moving averages (codebook_update=ema) from the whole batch's usage, and its perplexity."""
        if self.config.codebook_update == "ema":
            vectors = tf.shape(images)[0] * self.grid_shape[0] * self.grid_shape[1]
            self.quantizer.update_averages(metrics["usage"], metrics["entry_means"], tf.cast(vectors, tf.float32))
        return {"perplexity": perplexity(metrics["usage"])}

    def code_indices(self, images: tf.Tensor) -> tf.Tensor:
        """The grid of codebook indices of images in the model's pixel range (N, H, W)."""
        return self.quantizer.nearest(self.encoder(images, training=False))

    def prior_losses(self, images: tf.Tensor, rng: tf.random.Generator) -> dict[str, tf.Tensor]:
        """The prior's loss in nats per code on the code indices of training images (the VQ-VAE stays as trained)."""
        indices = tf.stop_gradient(self.code_indices(images))
        logits = self.prior(tf.one_hot(indices, self.config.num_embeddings), training=True)
        return {"prior_loss": tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(indices, logits))}

    # ------------------------------------------------------------------ the commands' interface

    def encode(self, images: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        """Each image's grid of codebook entries, flattened: (N, latent_dim)."""
        entries = self.quantizer.entries(self.code_indices(images))
        return tf.reshape(entries, [-1, self.latent_dim])

    def decode(self, codes: tf.Tensor, conditions: tf.Tensor | None = None) -> tf.Tensor:
        grid = tf.reshape(tf.cast(codes, tf.float32), [-1, *self.grid_shape])
        return tf.sigmoid(self.decoder(grid, training=False))

    def prior_ready(self) -> bool:
        return int(self.prior_optimizer.iterations.numpy()) > 0

    def require_prior_ready(self) -> None:
        if not self.prior_ready():
            raise GenlabError(
                "this vqvae run has no trained prior to sample from: train one with model.prior.steps=N "
                "(genlab train resume=RUN model.prior.steps=N continues a finished run)"
            )

    def prior_codes(self, rng: np.random.Generator, count: int, temperature: float = 1.0) -> np.ndarray:
        """Grids drawn from the PixelCNN (sharper below temperature 1), as flattened codebook entries."""
        self.require_prior_ready()
        indices = sample_indices(self.prior, rng, count, temperature)
        return self.quantizer.entries(tf.constant(indices)).numpy().reshape(count, self.latent_dim)
