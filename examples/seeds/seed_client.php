<?php
// The PHP code from the seeds' guide (../shared/seeds/001_b97a721c7d3bc39a.txt), unchanged except for its
// placeholders: MY_CLIENT_ID, MY_CLIENT_SECRET, MY_AUTHENTICATION_URL and https://my-api-endpoint.
// test/seeds.test.ts fills them in and runs run_seed_client.php against a real Clavis server.

function getTokenByClientIdAndClientSecret() {
    try {
        // Set client ID and client secret
        $clientId = 'MY_CLIENT_ID';
        $clientSecret = 'MY_CLIENT_SECRET';

        // Set authentication URL
        $authenticationUrl = 'MY_AUTHENTICATION_URL';

        // Set payload with grant type and client ID
        $payload = http_build_query([
            'grant_type' => 'client_credentials',
            'client_id' => $clientId
        ]);

        // Set authentication with client ID and client secret
        $auth = base64_encode("$clientId:$clientSecret");

        // Set headers
        $headers = [
            'Content-Type: application/x-www-form-urlencoded',
            'Authorization: Basic ' . $auth
        ];

        // Send POST request with authentication URL, headers, payload, and auth
        $ch = curl_init();
        curl_setopt($ch, CURLOPT_URL, $authenticationUrl);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        curl_setopt($ch, CURLOPT_POST, true);
        curl_setopt($ch, CURLOPT_POSTFIELDS, $payload);
        curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
        $response = curl_exec($ch);
        curl_close($ch);

        // Get access token from response JSON
        $result = json_decode($response, true);
        $accessToken = $result['access_token'];

        // Return access token
        return $accessToken;
    } catch (Exception $err) {
        // Print error message if there is an exception
        echo 'Error: ' . $err->getMessage();
    }
}

function get_data_from_endpoint($access_token) {
    $api_endpoint = "https://my-api-endpoint";
    $headers = array(
        "Authorization: $access_token",
        "x-api-key: MY_API_KEY",
        "Referer: MY_REFERER",
        "Origin: MY_ORIGIN",
        // ...
    );

    $ch = curl_init($api_endpoint);
    curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    $response = curl_exec($ch);
    $http_code = curl_getinfo($ch, CURLINFO_HTTP_CODE);
    curl_close($ch);

    // Handle expired access tokens
    if ($http_code == 401) {
        // Perform reauthentication
        $new_access_token = get_token_by_client_id_and_client_secret();
        // Try to get data with the new authorization
        $headers[0] = "Authorization: $new_access_token";

        $ch = curl_init($api_endpoint);
        curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        $response = curl_exec($ch);
        curl_close($ch);
    }

    return $response;
}
