"""Every update attempt, recorded: reports, the local store, delivery to a backend."""
