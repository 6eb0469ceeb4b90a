"""The CDK's standard destination test suite, with the connector class set explicitly (our packages use underscores)."""

from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase

from destination_quickbooks_desktop.destination import DestinationQuickbooksDesktop


class TestDestinationQuickbooksDesktopStandard(DestinationTestSuiteBase):
    connector = DestinationQuickbooksDesktop
