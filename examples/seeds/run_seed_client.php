<?php
// Drives the seeds' PHP functions as run_seed_client.py drives the Python ones: get a token, call the API,
// wait for a line on stdin (the test moves the server's clock past the token's lifetime meanwhile), and call
// again so the seeds' own 401 path re-authenticates. Prints one JSON line per step for the test to check.
require __DIR__ . '/seed_client.php';

// The guide's expiry snippet calls get_token_by_client_id_and_client_secret() (the Python name) and leaves it
// to the reader; its PHP token function is getTokenByClientIdAndClientSecret().
function get_token_by_client_id_and_client_secret() {
    return getTokenByClientIdAndClientSecret();
}

$token = getTokenByClientIdAndClientSecret();
echo json_encode(['step' => 'token', 'ok' => is_string($token) && $token !== '']), "\n";
$first = get_data_from_endpoint($token);
echo json_encode(['step' => 'call', 'body' => json_decode($first, true)]), "\n";
fgets(STDIN);
$second = get_data_from_endpoint($token);
echo json_encode(['step' => 'after-expiry', 'body' => json_decode($second, true)]), "\n";
