"""Marketing call tasks: plan one for a person (through the one door) and work the list."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from leadwerk.consent.choices import Purpose
from leadwerk.contacts.selectors import person_get

from .choices import MessageChannel, MessageStatus
from .selectors import call_task_list
from .services import call_task_complete, message_send


class CallTaskForm(forms.Form):
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Purpose.choices)
    note = forms.CharField(label=gettext_lazy("What to talk about"), max_length=2000)


@login_required
@require_POST
def plan_call(request, uuid):
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    form = CallTaskForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a purpose and say what the call is about."))
        return redirect(person)
    message = message_send(
        purpose=form.cleaned_data["purpose"],
        channel=MessageChannel.PHONE,
        person=person,
        subject=_("Marketing call"),
        body=form.cleaned_data["note"],
        actor=request.user,
        assignee=request.user,
    )
    if message.status == MessageStatus.REFUSED:
        messages.error(request, _("Not allowed: %(reason)s") % {"reason": message.reason})
    else:
        messages.success(request, _("Call task created for you."))
    return redirect(person)


@login_required
def calls(request):
    return render(request, "messaging/calls.html", {"tasks": call_task_list(user=request.user)})


@login_required
@require_POST
def call_done(request, uuid):
    task = get_object_or_404(call_task_list(user=request.user), uuid=uuid)
    call_task_complete(task=task, actor=request.user, note=request.POST.get("note", "")[:2000])
    messages.success(request, _("Call marked as done."))
    return redirect("messaging:calls")
