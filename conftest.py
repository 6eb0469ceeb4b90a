pytest_plugins = [
    "airbyte_cdk.test.standard_tests.pytest_hooks",
    "integration_tests.fixtures_coperniq",
    "integration_tests.fixtures_quickbooks",
    "integration_tests.fault_tolerance.options",
]
