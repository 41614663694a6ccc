#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# peer_mdkim.pl - Mail::DKIM (Debian libmail-dkim-perl) as an interop peer.
#
# Signs or verifies one message from stdin so that the interop scripts can
# play Mail::DKIM against dkimq.  Keys come from a static zone file (the
# format of keys.zone, see zone_load) through a replacement for
# Mail::DKIM::DNS::query; nothing goes to the network.
#
#   sign --key K --domain D --selector S --canon H/B --algo rsa-sha256
#        [--length] < msg > signed
#   verify --zone ZONEFILE < msg
#   dk-sign --key K --domain D --selector S --method simple|nofws
#        [--headers h1:h2:...] < msg > signed      (DomainKeys, RFC 4870)
#   dk-verify --zone ZONEFILE < msg
#
# verify and dk-verify judge the first DKIM-Signature (DomainKey-Signature)
# and print "pass" (exit 0) or "fail: reason" (exit 1).  Usage and key
# errors exit 2.  Input lines may end in LF or CRLF; Mail::DKIM is always
# fed CRLF, and the signature field is written with the message's own line
# ending above the unchanged message.
#
# Signing oversigns From; l= is computed with Mail::DKIM's own body
# canonicalization before the real signing pass.
#
# Limitations of Mail::DKIM 1.20230212 that show through: no ed25519-sha256
# (sign refuses it, verify calls it unsupported); its verifier takes l=0
# for no l= at all; its DomainKeys verifier cannot read the identity from
# a folded From field ("invalid (bad identity)").

use strict;
use warnings;

use Crypt::OpenSSL::RSA;
use Getopt::Long qw(GetOptionsFromArray);
use Mail::DKIM::Canonicalization::relaxed;
use Mail::DKIM::Canonicalization::simple;
use Mail::DKIM::DNS;
use Mail::DKIM::DkSignature;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::Signature;
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Net::DNS;

# zone_load - read a zone file into { name => [ [strings], ... ] } for TXT
# names and { name => 'NXDOMAIN' | 'SERVFAIL' | 'TIMEOUT' } for the others.
# Lines: NAME TTL [IN] TXT "s1" "s2" ..., or NAME NXDOMAIN|SERVFAIL|TIMEOUT.
# Names are kept in lower case without a trailing dot.
sub zone_load {
	my ($path) = @_;
	my %zone;

	open my $fh, '<', $path or die "cannot read $path: $!\n";
	while (my $line = <$fh>) {
		$line =~ s/\s+\z//;
		next if $line =~ /^\s*(?:[;#]|\z)/;

		my ($name, $rest) = $line =~ /^(\S+)\s+(.*)\z/
		    or die "$path: bad line: $line\n";
		$name = lc $name;
		$name =~ s/\.\z//;
		if ($rest =~ /^(NXDOMAIN|SERVFAIL|TIMEOUT)\b/i) {
			$zone{$name} = uc $1;
			next;
		}
		$rest =~ s/^\d+\s+(?:IN\s+)?TXT\s+//i
		    or die "$path: not a TXT line: $line\n";
		my @strings;
		while ($rest =~ /\G\s*"((?:[^"\\]|\\.)*)"/gc) {
			push @strings, zone_unescape($1);
		}
		die "$path: bad TXT data: $line\n"
		    if (pos($rest) // 0) != length $rest;
		next if defined $zone{$name} && !ref $zone{$name};
		push @{ $zone{$name} }, \@strings;
	}
	close $fh;
	return \%zone;
}

# zone_unescape - undo \X and \DDD in one quoted zone-file string.
sub zone_unescape {
	my ($s) = @_;

	$s =~ s/\\(\d{3}|.)/$1 =~ m{^\d{3}\z} ? chr($1) : $1/ge;
	return $s;
}

# zone_install - answer Mail::DKIM's DNS queries from a loaded zone.  The
# replacement keeps the contract of Mail::DKIM::DNS::query: a list of RRs,
# an empty list with $@ set for NXDOMAIN and NODATA, and die for errors
# that may be temporary.
sub zone_install {
	my ($zone) = @_;

	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($domain, $type) = @_;
		my $name = lc $domain;
		$name =~ s/\.\z//;
		my $entry = $zone->{$name} // 'NXDOMAIN';

		if ($entry eq 'SERVFAIL') {
			die "DNS error: SERVFAIL\n";
		}
		if ($entry eq 'TIMEOUT') {
			die "DNS query timeout for $domain\n";
		}
		if (!ref $entry || uc $type ne 'TXT') {
			$@ = ref $entry ? 'NODATA' : 'NXDOMAIN';
			return ();
		}
		$@ = 'NOERROR';
		return map {
			Net::DNS::RR->new(name => $name, type => 'TXT',
			    ttl => 300, txtdata => $_)
		} @$entry;
	};
}

# read_message - slurp stdin; return the raw bytes, the line ending the
# message uses, and its lines, each ending in CRLF.  An unterminated last
# line is terminated too, as SMTP would deliver it: Mail::DKIM's "simple"
# body canonicalization would otherwise leave out the CRLF that RFC 6376
# 3.4.3 adds there, while "relaxed" adds it.
sub read_message {
	binmode STDIN;
	local $/;
	my $raw = <STDIN> // '';
	my $eol = $raw =~ /\A[^\n]*\r\n/ || $raw !~ /\n/ ? "\r\n" : "\n";
	my @lines = $raw =~ /([^\n]*\n|[^\n]+\z)/g;

	s/\r?\n?\z/\r\n/ for @lines;
	return ($raw, $eol, \@lines);
}

# load_key - a Mail::DKIM::PrivateKey from a PEM file (PKCS#1 or PKCS#8).
# Mail::DKIM itself only reads PKCS#1, so OpenSSL parses the file.
sub load_key {
	my ($path) = @_;

	open my $fh, '<', $path or die "cannot read $path: $!\n";
	my $pem = do { local $/; <$fh> };
	close $fh;
	my $rsa = eval { Crypt::OpenSSL::RSA->new_private_key($pem) }
	    or die "$path: not an RSA private key\n";
	return Mail::DKIM::PrivateKey->load(Cork => $rsa);
}

# body_length - octets of the canonical body for l=, using Mail::DKIM's
# own body canonicalization class for method.
sub body_length {
	my ($method, $lines) = @_;
	my $class = "Mail::DKIM::Canonicalization::$method";
	my $i = 0;

	$i++ while $i < @$lines && $lines->[$i] ne "\r\n";
	my $body = join '', @{$lines}[ $i + 1 .. $#$lines ];
	my $out = '';
	my $canon = $class->new(buffer => \$out,
	    Signature => Mail::DKIM::Signature->new(Method => $method));
	$canon->add_body($body) if length $body;
	$canon->finish_body;
	return length $out;
}

# emit - print the new signature field and the unchanged message.
sub emit {
	my ($field, $raw, $eol) = @_;

	$field =~ s/\r\n/$eol/g;
	binmode STDOUT;
	print $field, $eol, $raw;
}

# run_signer - feed the message to a Mail::DKIM::Signer whose policy adds
# the signature built by make_sig, and print the result.
sub run_signer {
	my ($key, $make_sig) = @_;
	my ($raw, $eol, $lines) = read_message();
	my $signer = Mail::DKIM::Signer->new(
	    Key => $key,
	    ExtendedHeaders => { from => '+' },
	    Policy => sub {
		    my ($s) = @_;
		    $s->add_signature($make_sig->($s, $lines));
		    return 1;
	    },
	);

	$signer->PRINT($_) for @$lines;
	$signer->CLOSE;
	die "Mail::DKIM did not sign\n" unless $signer->signature;
	emit($signer->signature->as_string, $raw, $eol);
	return 0;
}

sub cmd_sign {
	my (@argv) = @_;
	my %o = (canon => 'relaxed/relaxed', algo => 'rsa-sha256');

	GetOptionsFromArray(\@argv, \%o, 'key=s', 'domain=s', 'selector=s',
	    'canon=s', 'algo=s', 'length') or return 2;
	defined $o{$_} or die "sign: --$_ is required\n"
	    for qw(key domain selector);
	die "sign: Mail::DKIM $Mail::DKIM::VERSION cannot sign $o{algo}\n"
	    unless $o{algo} eq 'rsa-sha256';
	my $canon = $o{canon} =~ m{/} ? $o{canon} : "$o{canon}/simple";
	my (undef, $bcanon) = split m{/}, $canon;
	my $key = load_key($o{key});

	return run_signer($key, sub {
		my ($s, $lines) = @_;
		my $sig = Mail::DKIM::Signature->new(
		    Algorithm => $o{algo},
		    Method => $canon,
		    Headers => $s->headers,
		    Domain => $o{domain},
		    Selector => $o{selector},
		    Timestamp => time,
		    Key => $key,
		);
		$sig->body_count(body_length($bcanon, $lines))
		    if $o{length};
		return $sig;
	});
}

sub cmd_dk_sign {
	my (@argv) = @_;
	my %o = (method => 'nofws');

	GetOptionsFromArray(\@argv, \%o, 'key=s', 'domain=s', 'selector=s',
	    'method=s', 'headers=s') or return 2;
	defined $o{$_} or die "dk-sign: --$_ is required\n"
	    for qw(key domain selector);
	die "dk-sign: --method is simple or nofws\n"
	    unless $o{method} =~ /^(?:simple|nofws)\z/;
	my $key = load_key($o{key});

	return run_signer($key, sub {
		return Mail::DKIM::DkSignature->new(
		    Algorithm => 'rsa-sha1',
		    Method => $o{method},
		    Headers => $o{headers},
		    Domain => $o{domain},
		    Selector => $o{selector},
		    Key => $key,
		);
	});
}

# cmd_verify - verify, then judge the first signature of the wanted kind:
# DomainKey-Signature when $dk, DKIM-Signature otherwise.
sub cmd_verify {
	my ($dk, @argv) = @_;
	my %o;

	GetOptionsFromArray(\@argv, \%o, 'zone=s') or return 2;
	defined $o{zone} or die "verify: --zone is required\n";
	zone_install(zone_load($o{zone}));

	my (undef, undef, $lines) = read_message();
	my $v = Mail::DKIM::Verifier->new;
	$v->PRINT($_) for @$lines;
	$v->CLOSE;

	my ($sig) = grep {
		($_->isa('Mail::DKIM::DkSignature') ? 1 : 0) == ($dk ? 1 : 0)
	} $v->signatures;
	if (!$sig) {
		print "fail: no ", $dk ? 'DomainKey' : 'DKIM', "-Signature\n";
		return 1;
	}
	if (($sig->result // '') eq 'pass') {
		print "pass\n";
		return 0;
	}
	print "fail: ", $sig->result_detail // 'no result', "\n";
	return 1;
}

sub main {
	my ($cmd, @argv) = @_;
	my %cmds = (
	    'sign' => sub { cmd_sign(@_) },
	    'verify' => sub { cmd_verify(0, @_) },
	    'dk-sign' => sub { cmd_dk_sign(@_) },
	    'dk-verify' => sub { cmd_verify(1, @_) },
	);

	if (!defined $cmd || !$cmds{$cmd}) {
		print STDERR "usage: peer_mdkim.pl",
		    " sign|verify|dk-sign|dk-verify [options]\n";
		return 2;
	}
	my $rc = eval { $cmds{$cmd}->(@argv) };
	if (!defined $rc) {
		print STDERR "peer_mdkim: $@";
		return 2;
	}
	return $rc;
}

exit main(@ARGV);
