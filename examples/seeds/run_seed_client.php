<?php
// Drives the seeds' PHP functions as run_seed_client.py drives the Python ones: get a token, call the API,
// let the token expire, and call again so the seeds' own 401 path re-authenticates. Prints one JSON line per
// step for the test to check.
require __DIR__ . '/seed_client.php';

// The guide's expiry snippet calls get_token_by_client_id_and_client_secret() (the Python name) and leaves it
// to the reader; its PHP token function is getTokenByClientIdAndClientSecret().
function get_token_by_client_id_and_client_secret() {
    return getTokenByClientIdAndClientSecret();
}

$wait = isset($argv[1]) ? (float) $argv[1] : 0;
$token = getTokenByClientIdAndClientSecret();
echo json_encode(['step' => 'token', 'ok' => is_string($token) && $token !== '']), "\n";
$first = get_data_from_endpoint($token);
echo json_encode(['step' => 'call', 'body' => json_decode($first, true)]), "\n";
usleep((int) ($wait * 1000000));
$second = get_data_from_endpoint($token);
echo json_encode(['step' => 'after-expiry', 'body' => json_decode($second, true)]), "\n";
