"""Knowledge-base errors with stable ids; `web/` maps the id to an HTTP status."""

from __future__ import annotations

from infra.errors import DomainError


class KnowledgeError(DomainError):
    """Base of every knowledge error. `error_id` is stable and safe to show; `field` names the input."""

    error_id = "knowledge-error"


class NoSuchArticle(KnowledgeError):
    error_id = "no-such-article"


class IllegalTransition(KnowledgeError):
    """The action does not exist from the article's status. Nothing was changed."""

    error_id = "article-transition-refused"


class Forbidden(KnowledgeError):
    """The actor may not do this to this article (another department's, or reviewing their own edit)."""

    error_id = "article-forbidden"


class InvalidArticle(KnowledgeError):
    """Bad input: a field of an article, an import line (`field` is `file:line: field`)."""

    error_id = "article-invalid"
