//! An example of a project's tests against Carillon, in `tests/`: nothing here but the tests.
