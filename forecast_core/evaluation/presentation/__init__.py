"""What people look at: ``figures`` (the PNG figures), ``report`` (one HTML page)."""
