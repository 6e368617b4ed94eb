"""Every picture genlab draws: the render commands' work on a restored run (job, images, paths,
codes, progress) and the pure numpy/Pillow/imageio helpers they use (grid, gif, latent, plots)."""
