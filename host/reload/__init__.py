"""Hot reload: watch the app folder, re-import the app on a save, switch the running host to it,
and check that unfinished orchestrations still replay on the new code."""
