"""The status bar at the top: settings, predicted makespan before and after, progress."""
