"""Tests of the CA core."""
