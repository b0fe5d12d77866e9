"""Controls that act: the entitlements export the API gateway polls and alert delivery."""
