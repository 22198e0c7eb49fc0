"""Past one process: what several instances of one bot share through Redis (docs/scaling.md).

Pure of actors: each module wraps one shared mechanism behind a small class that an actor owns.
Everything here is optional: with no ``redis_url`` none of it is constructed and the bot runs
exactly as the embedded default does.
"""
