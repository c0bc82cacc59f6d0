"""The app's screens: the scenario picker, the scenario screen, help and small prompts."""
