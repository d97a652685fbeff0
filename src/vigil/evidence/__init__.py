"""Where bytes come from: sources opened read-only, the walk, blobs, containers, the custody log."""
