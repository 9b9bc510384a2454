"""The station's firmware library: packages in local folders and the firmware cache, indexed for choosing."""
