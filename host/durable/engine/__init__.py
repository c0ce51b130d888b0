"""The dispatcher: control-queue and work-item processing, sessions, activities, timers."""
