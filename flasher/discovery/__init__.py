"""Finding handsets on every link, and following them as they come and go."""
