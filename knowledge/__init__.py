"""Knowledge base (知识库): articles the departments write, the hotline checks and everyone reads.

One source of answers: the IVR's self-service, the agent desktop and the public web page read the
same published articles. `services.KnowledgeService` is the entry point; `state` is the review
workflow (pure), `repository` the only SQL, `search` the Chinese full-text query.
"""
