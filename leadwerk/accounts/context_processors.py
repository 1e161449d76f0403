from django.conf import settings


def navigation(request):
    """Values every page needs: the base URL for snippets and the current user's roles."""
    user = getattr(request, "user", None)
    roles = user.role_names if user is not None and user.is_authenticated else frozenset()
    return {"LEADWERK_BASE_URL": settings.LEADWERK_BASE_URL, "user_roles": roles}
