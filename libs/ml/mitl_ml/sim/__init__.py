"""The loop simulator: replay a labeled dataset through the real router core and a real model."""
