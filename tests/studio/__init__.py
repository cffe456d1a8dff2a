"""Tests of the Label Studio round trip."""
