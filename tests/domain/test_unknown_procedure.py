"""A dossier of a procedure nobody configured: how it counts is the profile's choice."""

from __future__ import annotations

from tests.domain.builders import Scenario, t
from tthc.events import DossierResultReturned
from tthc.profile import UnknownProcedure, load_profile


def with_setting(choice: UnknownProcedure) -> Scenario:
    profile = load_profile()
    settings = profile.settings.model_copy(update={"unknown_procedure_dossiers": choice})
    s = Scenario(profile=profile.model_copy(update={"settings": settings}))
    s.dossier("D1", procedure="NOBODY-KNOWS")
    s.add("D1", DossierResultReturned(at=t("2024-05-08 10:00"), electronic=False))
    return s


def test_defaults_counts_it_as_a_procedure_that_returns_a_result() -> None:
    s = with_setting(UnknownProcedure.defaults)
    assert s.counts("dossiers_electronic_result") == (0, 1)  # 4.1
    assert s.counts("dossiers_on_time")[1] == 1  # 2.1


def test_neutral_the_default_counts_it_only_where_the_procedure_does_not_matter() -> None:
    assert load_profile().settings.unknown_procedure_dossiers is UnknownProcedure.neutral
    s = with_setting(UnknownProcedure.neutral)
    assert s.counts("dossiers_electronic_result") == (0, 0)  # 4.1: no result document known
    assert s.counts("dossiers_on_time")[1] == 1
    s.procedure("NOBODY-KNOWS", returns_result_document=True)  # it arrives
    assert s.counts("dossiers_electronic_result") == (0, 1)
    assert s.counts("dossiers_on_time")[1] == 1
