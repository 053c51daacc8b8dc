"""What both two-way connectors do with people: one `Directory` of their platform's users by
e-mail address, the assignee's address filled in on read where the map knows it, and the
`FindsPeople` methods the engine calls (`connectors.base`)."""

from __future__ import annotations

import dataclasses

from itsm_bridge.people import Directory, PersonEntry, email_of
from itsm_bridge.records import RemoteRecord


class PeopleLookups:
    """A platform's users by address; `id_field` and `email_field` name the assignee's id and
    address in its records."""

    def __init__(self, directory: Directory, id_field: str, email_field: str) -> None:
        self.directory = directory
        self.id_field, self.email_field = id_field, email_field

    def account_for(self, person: str | None) -> str | None:
        raise NotImplementedError

    def read(self, record: RemoteRecord) -> RemoteRecord:
        """The record with the assignee's address from the map when the platform shows none."""
        remote_id = record.fields.get(self.id_field)
        if not remote_id:
            return record
        shown = email_of(record.fields.get(self.email_field))
        if shown is not None:
            self.directory.seen(shown, str(remote_id))
            return record
        known = self.directory.email_for(str(remote_id))
        if known is None:
            return record
        return dataclasses.replace(record, fields={**record.fields, self.email_field: known})


class FindsPeopleBy:
    """`FindsPeople` for a connector whose `people` are its platform's lookups."""

    people: PeopleLookups

    def account_for(self, person: str | None) -> str | None:
        """The platform's id of a canonical person (an e-mail address), or None."""
        return self.people.account_for(person)

    def people_found(self) -> list[PersonEntry]:
        return self.people.directory.entries()

    def restore_people(self, entries: list[PersonEntry]) -> None:
        self.people.directory.restore(entries)
