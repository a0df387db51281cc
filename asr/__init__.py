"""Speech for the IVR: AudioSocket server, Vosk recognizer pool, intent matcher, dispatch suggestion.

Only this package speaks AudioSocket and imports vosk; see asr/README.md.
"""
