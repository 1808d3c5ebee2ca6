//! Feedback for whoever led.
