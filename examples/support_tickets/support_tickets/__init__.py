"""Support tickets mapped by Latent Scope: the team's own asset, then the LatentScope component."""
