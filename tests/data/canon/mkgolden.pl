#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# mkgolden.pl - write the Mail::DKIM canonical output of MSG.eml as
# STEM.{simple,relaxed}.{header,body} and STEM.dk-{simple,nofws}.all.
# Usage: perl mkgolden.pl MSG.eml STEM (needs libmail-dkim-perl).
use strict; use warnings;
use Mail::DKIM::Signature; use Mail::DKIM::DkSignature;
use Mail::DKIM::Canonicalization::simple;
use Mail::DKIM::Canonicalization::relaxed;
use Mail::DKIM::Canonicalization::dk_simple;
use Mail::DKIM::Canonicalization::dk_nofws;
my ($in, $stem) = @ARGV;
open my $fh, '<:raw', $in or die; local $/; my $msg = <$fh>;
my ($hdr, $body) = split /\015\012\015\012/, $msg, 2;
$body = '' unless defined $body;
my @fields;
for my $l (split /\015\012/, $hdr) {
	if ($l =~ /^[ \t]/) { $fields[-1] .= "\015\012$l" } else { push @fields, $l }
}
sub put { my ($n, $d) = @_; open my $o, '>:raw', $n or die; print $o $d; }
for my $m (qw(simple relaxed)) {
	my $cls = "Mail::DKIM::Canonicalization::$m";
	my $c = $cls->new(Signature => Mail::DKIM::Signature->new());
	put("$stem.$m.header", join '', map { $c->canonicalize_header($_) . "\015\012" } @fields);
	my $b = $cls->new(Signature => Mail::DKIM::Signature->new());
	$b->add_body($body); $b->finish_body;
	put("$stem.$m.body", $b->result);
}
for my $m (qw(dk_simple dk_nofws)) {
	my $cls = "Mail::DKIM::Canonicalization::$m";
	my $c = $cls->new(Signature => Mail::DKIM::DkSignature->new());
	$c->add_header("$_\015\012") for @fields;
	$c->finish_header(Headers => [map {"$_\015\012"} @fields]); $c->add_body($body) if length $body; $c->finish_body;
	(my $n = $m) =~ s/_/-/;
	put("$stem.$n.all", $c->result);
}
