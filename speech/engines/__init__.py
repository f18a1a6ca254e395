"""The speech engines behind `speech.engine.Engine`: Whisper (CTranslate2) and Vosk.

Each module imports its engine library only when used, so that one engine being absent does
not break the other. `speech.model_store.open_engine` picks one from the settings.
"""
