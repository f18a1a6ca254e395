"""Speech: recognition engines, Russian numbers and intents, the live listening path."""
