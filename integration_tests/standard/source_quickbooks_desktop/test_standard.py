"""The CDK's standard source test suite, with the connector class set explicitly (our packages use underscores)."""

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from source_quickbooks_desktop.source import SourceQuickbooksDesktop


class TestSourceQuickbooksDesktopStandard(SourceTestSuiteBase):
    connector = SourceQuickbooksDesktop
