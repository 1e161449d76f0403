"""Sign-in and the user's own API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """The user's API tokens: create one (its raw value is shown once), list, revoke."""
    form = ApiTokenForm(request.POST or None)
    created_raw = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _token, created_raw = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
            )
            form = ApiTokenForm()
        else:
            status = 422
    response = render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "created_raw": created_raw,
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        },
        status=status,
    )
    # The raw token must not linger in a cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, uuid):
    token = get_object_or_404(ApiToken, uuid=uuid, user=request.user)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
