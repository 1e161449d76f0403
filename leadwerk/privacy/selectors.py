from leadwerk.accounts.choices import Role


def user_may_handle_requests(user) -> bool:
    """Access and erasure requests are an admin's job (the data protection contact)."""
    return bool(user.is_authenticated and user.is_active and user.has_role(Role.ADMIN))
